package android.net.wifi;

/** android.net.wifi.ScanResult: one access point seen in a scan. */
public class ScanResult {
    public final String SSID;
    public final String BSSID;

    public ScanResult(String ssid, String bssid) {
        this.SSID = ssid;
        this.BSSID = bssid;
    }

    @Override
    public String toString() {
        return "SSID: " + SSID + ", BSSID: " + BSSID;
    }
}
