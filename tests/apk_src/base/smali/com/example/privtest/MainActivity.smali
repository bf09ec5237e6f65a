.class public Lcom/example/privtest/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    invoke-static {p0}, Lcom/example/privtest/Collector;->collect(Landroid/content/Context;)V
    invoke-static {p0}, Lcom/fakesdk/tracker/Beacon;->track(Landroid/content/Context;)V
    invoke-static {p0}, Lcom/bytedance/sdk/openadsdk/TTAdSdk;->init(Landroid/content/Context;)V
    new-instance v0, Landroid/webkit/WebView;
    invoke-direct {v0, p0}, Landroid/webkit/WebView;-><init>(Landroid/content/Context;)V
    new-instance v1, Lcom/example/privtest/JsBridge;
    invoke-direct {v1}, Lcom/example/privtest/JsBridge;-><init>()V
    const-string v2, "privtestBridge"
    invoke-virtual {v0, v1, v2}, Landroid/webkit/WebView;->addJavascriptInterface(Ljava/lang/Object;Ljava/lang/String;)V
    const-string v1, "https://api.privlab-test.example/v1/collect"
    invoke-virtual {v0, v1}, Landroid/webkit/WebView;->loadUrl(Ljava/lang/String;)V
    return-void
.end method
