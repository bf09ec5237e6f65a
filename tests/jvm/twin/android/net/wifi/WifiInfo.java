package android.net.wifi;

import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.net.wifi.WifiInfo: MAC, SSID and BSSID of the connected network. */
public class WifiInfo {
    public String getMacAddress() {
        Originals.called("WifiInfo.getMacAddress");
        return Canaries.get("mac");
    }

    public String getSSID() {
        Originals.called("WifiInfo.getSSID");
        return "\"privlab-lab\"";
    }

    public String getBSSID() {
        Originals.called("WifiInfo.getBSSID");
        return "02:00:5e:10:00:01";
    }

    @Override
    public String toString() {
        return "SSID: \"privlab-lab\", BSSID: 02:00:5e:10:00:01";
    }
}
