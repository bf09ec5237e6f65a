.class public Lcom/fakesdk/tracker/BootReceiver;
.super Landroid/content/BroadcastReceiver;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V
    return-void
.end method

.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 3
    invoke-static {p1}, Lcom/fakesdk/tracker/Beacon;->track(Landroid/content/Context;)V
    return-void
.end method
