package com.google.android.gms.ads.identifier;

import android.content.Context;
import privlab.twin.Canaries;
import privlab.twin.Originals;

/** Google Play services' AdvertisingIdClient, as apps call it; the id is the planted one. */
public class AdvertisingIdClient {
    public static final class Info {
        private final String advertisingId;
        private final boolean limitAdTracking;

        public Info(String advertisingId, boolean limitAdTrackingEnabled) {
            this.advertisingId = advertisingId;
            this.limitAdTracking = limitAdTrackingEnabled;
        }

        public String getId() {
            Originals.called("AdvertisingIdClient$Info.getId");
            return advertisingId;
        }

        public boolean isLimitAdTrackingEnabled() {
            Originals.called("AdvertisingIdClient$Info.isLimitAdTrackingEnabled");
            return limitAdTracking;
        }

        @Override
        public String toString() {
            return "{" + advertisingId + "}" + limitAdTracking;
        }
    }

    public static Info getAdvertisingIdInfo(Context context) throws java.io.IOException {
        Originals.called("AdvertisingIdClient.getAdvertisingIdInfo", context == null ? null : "context");
        return new Info(Canaries.get("adid"), false);
    }
}
