package com.bytedance.applog;

import android.content.Context;
import android.net.wifi.WifiInfo;
import android.net.wifi.WifiManager;
import android.provider.Settings;
import android.telephony.TelephonyManager;
import privlab.app.Http;
import privlab.app.Truth;

/** ByteDance's AppLog SDK stand-in: device registration with the device's identifiers. */
public final class AppLog {
    private AppLog() {}

    public static void register(Context context) throws Exception {
        String androidId = Settings.Secure.getString(context.getContentResolver(), Settings.Secure.ANDROID_ID);
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
}
