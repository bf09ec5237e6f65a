package android.content;

import android.accounts.AccountManager;
import android.app.ActivityManager;
import android.app.ApplicationPackageManager;
import android.content.pm.PackageManager;
import android.location.LocationManager;
import android.net.wifi.WifiManager;
import android.telephony.TelephonyManager;

/** The twin's application context: hands out the system services the way Android's does. */
public class Context {
    public static final String CLIPBOARD_SERVICE = "clipboard";
    public static final String TELEPHONY_SERVICE = "phone";
    public static final String LOCATION_SERVICE = "location";
    public static final String WIFI_SERVICE = "wifi";
    public static final String ACTIVITY_SERVICE = "activity";
    public static final String ACCOUNT_SERVICE = "account";

    private final ContentResolver resolver = new ContentResolver();
    private final PackageManager packages = new ApplicationPackageManager();

    public Object getSystemService(String name) {
        switch (name) {
            case CLIPBOARD_SERVICE: return new ClipboardManager();
            case TELEPHONY_SERVICE: return new TelephonyManager();
            case LOCATION_SERVICE: return new LocationManager();
            case WIFI_SERVICE: return new WifiManager();
            case ACTIVITY_SERVICE: return new ActivityManager();
            case ACCOUNT_SERVICE: return new AccountManager();
            default: return null;
        }
    }

    public ContentResolver getContentResolver() {
        return resolver;
    }

    public PackageManager getPackageManager() {
        return packages;
    }

    public String getPackageName() {
        return "com.zhiliaoapp.musically";
    }
}
