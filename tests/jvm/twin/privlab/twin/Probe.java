package privlab.twin;

import android.accounts.AccountManager;
import android.app.ActivityManager;
import android.content.ClipData;
import android.content.ClipboardManager;
import android.content.Context;
import android.content.Intent;
import android.database.Cursor;
import android.location.LocationManager;
import android.media.MediaDrm;
import android.net.Uri;
import android.net.wifi.WifiInfo;
import android.net.wifi.WifiManager;
import android.provider.ContactsContract;
import android.provider.Settings;
import android.security.net.config.NetworkSecurityTrustManager;
import android.telephony.TelephonyManager;
import android.webkit.WebView;
import com.google.android.gms.ads.identifier.AdvertisingIdClient;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.UUID;

/**
 * The tests' app on the twin: one call to each hooked API, in a fixed order, printing what the app
 * got back ({@code RESULT<tab>api<tab>value}), then what the original methods received
 * ({@code ORIGINAL<tab>call}). Tests compare both with the agent's events.
 */
public final class Probe {
    private Probe() {}

    private static void result(String api, Object value) {
        String text = value instanceof Object[] ? Arrays.deepToString((Object[]) value) : String.valueOf(value);
        System.out.println("RESULT\t" + api + "\t" + text);
    }

    public static void main(String[] args) throws Exception {
        Context context = new Context();
        // clipboard
        ClipboardManager clipboard = (ClipboardManager) context.getSystemService(Context.CLIPBOARD_SERVICE);
        ClipData clip = clipboard.getPrimaryClip();
        result("ClipboardManager.getPrimaryClip", clip.getItemAt(0).getText());
        result("ClipboardManager.getText", clipboard.getText());
        result("ClipboardManager.hasPrimaryClip", clipboard.hasPrimaryClip());
        // identifiers
        TelephonyManager phone = (TelephonyManager) context.getSystemService(Context.TELEPHONY_SERVICE);
        result("TelephonyManager.getImei", phone.getImei(1));
        result("TelephonyManager.getSubscriberId", phone.getSubscriberId());
        result("Settings$Secure.getString", Settings.Secure.getString(context.getContentResolver(), Settings.Secure.ANDROID_ID));
        result("Settings$Secure.getString(other)", Settings.Secure.getString(context.getContentResolver(), "screen_brightness"));
        WifiInfo wifi = ((WifiManager) context.getSystemService(Context.WIFI_SERVICE)).getConnectionInfo();
        result("WifiInfo.getMacAddress", wifi.getMacAddress());
        AdvertisingIdClient.Info ad = AdvertisingIdClient.getAdvertisingIdInfo(context);
        result("AdvertisingIdClient$Info.getId", ad.getId());
        try (MediaDrm drm = new MediaDrm(new UUID(0xedef8ba979d64aceL, 0xa3c827dcd51d21edL))) {
            result("MediaDrm.getPropertyByteArray", Arrays.toString(drm.getPropertyByteArray(MediaDrm.PROPERTY_DEVICE_UNIQUE_ID)));
        }
        // location
        LocationManager location = (LocationManager) context.getSystemService(Context.LOCATION_SERVICE);
        android.location.Location fix = location.getLastKnownLocation(LocationManager.GPS_PROVIDER);
        result("LocationManager.getLastKnownLocation", fix);
        result("Location.getLatitude", fix.getLatitude());
        // contacts
        Cursor contacts = context.getContentResolver().query(ContactsContract.Contacts.CONTENT_URI, new String[] {"display_name"}, null, null, null);
        contacts.moveToNext();
        result("ContentResolver.query", contacts.getString(0));
        Cursor media = context.getContentResolver().query(Uri.parse("content://media/external/images"), null, null, null, null);
        result("ContentResolver.query(media)", media.getCount());
        AccountManager accounts = (AccountManager) context.getSystemService(Context.ACCOUNT_SERVICE);
        result("AccountManager.getAccountsByType", accounts.getAccountsByType("com.google"));
        // installed apps
        result("ApplicationPackageManager.getInstalledPackages", context.getPackageManager().getInstalledPackages(0));
        result("ApplicationPackageManager.queryIntentActivities", context.getPackageManager().queryIntentActivities(new Intent(Intent.ACTION_MAIN), 0));
        ActivityManager activities = (ActivityManager) context.getSystemService(Context.ACTIVITY_SERVICE);
        result("ActivityManager.getRunningAppProcesses", activities.getRunningAppProcesses());
        // webview
        WebView web = new WebView(context);
        web.loadUrl("https://shop.example/checkout");
        web.evaluateJavascript("document.addEventListener('keyup', e => bridge.log(e.key))", null);
        web.loadUrl("javascript:alert(1)");
        web.addJavascriptInterface(new Object(), "bridge");
        result("WebView.getUrl", web.getUrl());
        // tls: the platform pin check throws unless the agent bypasses it
        try {
            new NetworkSecurityTrustManager("api.example").checkPins(new ArrayList<>());
            result("NetworkSecurityTrustManager.checkPins", "passed");
        } catch (java.security.cert.CertificateException e) {
            result("NetworkSecurityTrustManager.checkPins", "threw " + e.getMessage());
        }
        // watch: an app-specific method the operator names
        result("Box.seal", Arrays.toString(Box.seal("hi".getBytes())));
        for (String call : Originals.calls()) {
            System.out.println("ORIGINAL\t" + call);
        }
        System.out.println("DONE");
    }

    /** An app-specific "encryption" entry point for the watch module. */
    public static final class Box {
        private Box() {}

        public static byte[] seal(byte[] plain) {
            Originals.called("Box.seal", Arrays.toString(plain));
            byte[] out = new byte[plain.length];
            for (int i = 0; i < plain.length; i++) {
                out[i] = plain[plain.length - 1 - i];
            }
            return out;
        }
    }
}
