package com.bytedance.ies.bullet;

import android.content.Context;
import android.provider.Settings;
import android.webkit.WebView;
import privlab.app.Http;
import privlab.app.Truth;

/**
 * ByteDance's in-app browser container (Bullet) stand-in: opens a shop page and injects a script that
 * hands the page the device id; the page's pixel then sends it to TikTok's analytics. (The twin's WebView
 * has no JavaScript engine: the container posts what the injected pixel would send.)
 */
public final class BulletWebContainer {
    private BulletWebContainer() {}

    public static void open(Context context) throws Exception {
        WebView web = new WebView(context);
        web.loadUrl("https://shop.example.org/checkout");
        String androidId = Settings.Secure.getString(context.getContentResolver(), Settings.Secure.ANDROID_ID);
        Truth.read("Settings$Secure.getString", "android_id", "android_id", BulletWebContainer.class);
        String script = "window.__bullet_env={device_id:" + Truth.json(androidId) + "};"
                + "document.addEventListener('input',e=>ttq.track('FormInput',{field:e.target.name}));ttq.page();";
        web.evaluateJavascript(script, null);
        Truth.read("WebView.evaluateJavascript", "webview", "android_id", BulletWebContainer.class);
        String probe = "jvm-webview-pixel";
        Http.post(probe, "https://analytics.tiktok.com/api/v2/pixel", "application/json",
                "{\"event\":\"Pageview\",\"context\":{\"page\":{\"url\":\"https://shop.example.org/checkout\"},\"device_id\":"
                        + Truth.json(androidId) + "}}");
        Truth.planted(probe, "android_id", "android_id", "body:context.device_id", "json");
    }
}
