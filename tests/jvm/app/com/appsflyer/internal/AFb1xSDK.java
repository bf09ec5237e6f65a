package com.appsflyer.internal;

import android.content.Context;
import com.google.android.gms.ads.identifier.AdvertisingIdClient;
import privlab.app.Http;
import privlab.app.Truth;

/** AppsFlyer's SDK stand-in (obfuscated class name, as shipped): the install event with the advertising id. */
public final class AFb1xSDK {
    private AFb1xSDK() {}

    public static void sendLaunch(Context context) throws Exception {
        AdvertisingIdClient.Info info = AdvertisingIdClient.getAdvertisingIdInfo(context);
        String adid = info.getId();
        Truth.read("AdvertisingIdClient$Info.getId", "advertising_id", "adid", AFb1xSDK.class);
        String probe = "jvm-appsflyer";
        Http.post(probe, "https://launches.appsflyer.com/api/v6.9/androidevent?app_id=com.zhiliaoapp.musically&buildnumber=6.9.0",
                "application/json", "{\"advertiserId\":" + Truth.json(adid) + ",\"advertiserIdEnabled\":\"true\",\"eventName\":\"af_launch\"}");
        Truth.planted(probe, "adid", "advertising_id", "body:advertiserId", "json");
    }
}
