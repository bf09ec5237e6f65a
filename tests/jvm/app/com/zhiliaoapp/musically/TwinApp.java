package com.zhiliaoapp.musically;

import android.content.Context;
import com.appsflyer.internal.AFb1xSDK;
import com.bytedance.applog.AppLog;
import com.bytedance.bdlocation.BDLocationClient;
import com.bytedance.ies.bullet.BulletWebContainer;
import com.bytedance.ies.ugc.clipboard.ClipboardWatcher;
import com.bytedance.sdk.openadsdk.AppListCollector;
import com.google.firebase.installations.FirebaseInstallations;
import com.ss.android.ugc.aweme.friends.ContactUploader;
import java.nio.file.Paths;
import privlab.app.Http;
import privlab.app.Truth;

/**
 * A TikTok-like app on the device twin: its SDKs (ByteDance AppLog, clipboard, location, Pangle, find
 * friends, the in-app browser; AppsFlyer; Firebase) read the device through the hooked Android APIs and send what they read
 * over HTTPS through the proxy (AppLog's event log ttEncrypt'd through the SDK's own entry point, which
 * the sample capture watches: {@link com.bytedance.applog.net.LogEncryptor}), the clipboard over real OkHttp with certificate pinning when Debian's
 * OkHttp is installed. Writes the ground truth of what it sent and what it read.
 *
 * <pre>java ... privlab.twin.Gate com.zhiliaoapp.musically.TwinApp GROUND_TRUTH.json READS.json</pre>
 */
public final class TwinApp {
    private TwinApp() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: TwinApp GROUND_TRUTH.json READS.json");
            System.exit(2);
        }
        Context context = new Context();
        AppLog.register(context);
        AppLog.sendEvents(context);
        FirebaseInstallations.register(context);
        AFb1xSDK.sendLaunch(context);
        ClipboardWatcher.onForeground(context, Http.preferOkHttp());
        BDLocationClient.upload(context);
        AppListCollector.report(context);
        ContactUploader.upload(context);
        BulletWebContainer.open(context);
        Truth.write(Paths.get(args[0]), Paths.get(args[1]));
        System.out.println("twin app: done");
        // OkHttp's HTTP/2 reader threads are not daemons and idle for minutes: end like an app being closed.
        System.exit(0);
    }
}
