package com.bytedance.bdlocation;

import android.content.Context;
import android.location.Location;
import android.location.LocationManager;
import privlab.app.Http;
import privlab.app.Truth;

/** ByteDance's location SDK stand-in: the last known fix, uploaded for "nearby" and ads. */
public final class BDLocationClient {
    private BDLocationClient() {}

    public static void upload(Context context) throws Exception {
        LocationManager manager = (LocationManager) context.getSystemService(Context.LOCATION_SERVICE);
        Location fix = manager.getLastKnownLocation(LocationManager.GPS_PROVIDER);
        Truth.read("LocationManager.getLastKnownLocation", "location", "location", BDLocationClient.class);
        String probe = "jvm-location";
        String body = "{\"location\":{\"latitude\":" + fix.getLatitude() + ",\"longitude\":" + fix.getLongitude() + "},\"ac\":\"wifi\"}";
        Http.post(probe, "https://api16-normal-c-useast1a.tiktokv.com/location/bdlocation/upload/?aid=1233", "application/json", body);
        Truth.planted(probe, "location", "location", "body:location.latitude", "json");
    }
}
