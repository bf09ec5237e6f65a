package com.bytedance.applog;

import android.content.Context;
import android.net.wifi.WifiInfo;
import android.net.wifi.WifiManager;
import android.provider.Settings;
import android.telephony.TelephonyManager;
import com.bytedance.applog.net.LogEncryptor;
import java.nio.charset.StandardCharsets;
import privlab.app.Http;
import privlab.app.Truth;
import privlab.twin.Canaries;

/**
 * ByteDance's AppLog SDK stand-in: device registration with the device's identifiers, then the event log,
 * ttEncrypt'd through the SDK's own encryption entry point (the method a capture watches).
 */
public final class AppLog {
    private static String androidId;

    private AppLog() {}

    public static void register(Context context) throws Exception {
        androidId = Settings.Secure.getString(context.getContentResolver(), Settings.Secure.ANDROID_ID);
        Truth.read("Settings$Secure.getString", "android_id", "android_id", AppLog.class);
        TelephonyManager phone = (TelephonyManager) context.getSystemService(Context.TELEPHONY_SERVICE);
        String imei = phone.getImei();
        Truth.read("TelephonyManager.getImei", "imei", "imei", AppLog.class);
        WifiInfo wifi = ((WifiManager) context.getSystemService(Context.WIFI_SERVICE)).getConnectionInfo();
        String mac = wifi.getMacAddress();
        Truth.read("WifiInfo.getMacAddress", "mac", "mac", AppLog.class);
        String probe = "jvm-device-register";
        String body = "{\"magic_tag\":\"ss_app_log\",\"header\":{\"android_id\":" + Truth.json(androidId)
                + ",\"udid\":" + Truth.json(imei) + ",\"mc\":" + Truth.json(mac) + ",\"os\":\"Android\",\"region\":\"NL\"}}";
        Http.post(probe, "https://log-va.tiktokv.com/service/2/device_register/?aid=1233&device_platform=android",
                "application/json; charset=utf-8", body);
        Truth.planted(probe, "android_id", "android_id", "body:header.android_id", "json");
        Truth.planted(probe, "imei", "imei", "body:header.udid", "json");
        Truth.planted(probe, "mac", "mac", "body:header.mc", "json");
    }

    /**
     * The event log: JSON with the SDK's own ids (openudid, cdid, install id: kept in the SDK's storage on a
     * phone; the twin hands out the planted ones) and the ANDROID_ID read at registration, handed to the
     * encryption entry point as plaintext, sent as the ttEncrypt body it returns.
     */
    public static void sendEvents(Context context) throws Exception {
        String body = "{\"magic_tag\":\"ss_app_log\",\"header\":{\"aid\":1233,\"openudid\":" + Truth.json(Canaries.get("openudid"))
                + ",\"cdid\":" + Truth.json(Canaries.get("cdid")) + ",\"install_id\":" + Truth.json(Canaries.get("install_id"))
                + ",\"android_id\":" + Truth.json(androidId) + "},\"event_v3\":[{\"event\":\"app_launch\",\"local_time_ms\":1700000000000}]}";
        byte[] plaintext = body.getBytes(StandardCharsets.UTF_8);
        byte[] sealed = LogEncryptor.encrypt(plaintext, plaintext.length);
        Truth.read("LogEncryptor.encrypt", "watch", "openudid", AppLog.class);
        String probe = "jvm-app-log";
        Http.postBytes(probe, "https://log-va.tiktokv.com/service/2/app_log/?aid=1233&tt_data=a",
                "application/octet-stream;tt-data=a", sealed);
        Truth.planted(probe, "openudid", "vendor_id", "body:header.openudid", "ttencrypt>gzip>json");
        Truth.planted(probe, "cdid", "vendor_id", "body:header.cdid", "ttencrypt>gzip>json");
        Truth.planted(probe, "install_id", "vendor_id", "body:header.install_id", "ttencrypt>gzip>json");
        Truth.planted(probe, "android_id", "android_id", "body:header.android_id", "ttencrypt>gzip>json");
    }
}
