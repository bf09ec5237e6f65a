package android.provider;

import android.content.ContentResolver;
import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.provider.Settings: Secure and System name/value tables (android_id is planted). */
public final class Settings {
    private Settings() {}

    public static final class Secure {
        public static final String ANDROID_ID = "android_id";

        private Secure() {}

        public static String getString(ContentResolver resolver, String name) {
            Originals.called("Settings$Secure.getString", resolver == null ? null : "resolver", name);
            return ANDROID_ID.equals(name) ? Canaries.get("android_id") : "1";
        }
    }

    public static final class System {
        private System() {}

        public static String getString(ContentResolver resolver, String name) {
            Originals.called("Settings$System.getString", resolver == null ? null : "resolver", name);
            return "device_name".equals(name) ? "Pixel twin" : "1";
        }
    }
}
