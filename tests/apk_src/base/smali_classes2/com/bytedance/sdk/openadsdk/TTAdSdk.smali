.class public Lcom/bytedance/sdk/openadsdk/TTAdSdk;
.super Ljava/lang/Object;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

# Stands for ByteDance's ad SDK (Pangle) embedded in someone else's app: a third party there.
# It sits in classes2.dex so that the test APK is a multidex APK.
.method public static init(Landroid/content/Context;)V
    .registers 3
    const-string v0, "phone"
    invoke-virtual {p0, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/telephony/TelephonyManager;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getSimSerialNumber()Ljava/lang/String;
    const-string v1, "https://api16-access-sg.pangle.io/api/ad/union/sdk/get_ads/"
    return-void
.end method
