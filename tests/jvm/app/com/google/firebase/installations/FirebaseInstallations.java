package com.google.firebase.installations;

import android.content.Context;
import android.provider.Settings;
import privlab.app.Http;
import privlab.app.Truth;

/** Firebase Installations stand-in: registers the installation, here with the Android ID as a hint. */
public final class FirebaseInstallations {
    private FirebaseInstallations() {}

    public static void register(Context context) throws Exception {
        String androidId = Settings.Secure.getString(context.getContentResolver(), Settings.Secure.ANDROID_ID);
        Truth.read("Settings$Secure.getString", "android_id", "android_id", FirebaseInstallations.class);
        String probe = "jvm-firebase";
        Http.post(probe, "https://firebaseinstallations.googleapis.com/v1/projects/tiktok-twin/installations",
                "application/json", "{\"fid\":\"cK2ow9b1T0yW\",\"appId\":\"1:1234:android:abcd\",\"authVersion\":\"FIS_v2\",\"sdkVersion\":\"a:17.0.1\",\"hint\":" + Truth.json(androidId) + "}");
        Truth.planted(probe, "android_id", "android_id", "body:hint", "json");
    }
}
