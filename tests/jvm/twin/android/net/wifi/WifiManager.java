package android.net.wifi;

import java.util.ArrayList;
import java.util.List;
import privlab.twin.Originals;

/** android.net.wifi.WifiManager: scan results and the current connection. */
public class WifiManager {
    public List<ScanResult> getScanResults() {
        Originals.called("WifiManager.getScanResults");
        List<ScanResult> out = new ArrayList<>();
        out.add(new ScanResult("privlab-lab", "02:00:5e:10:00:01"));
        return out;
    }

    public WifiInfo getConnectionInfo() {
        Originals.called("WifiManager.getConnectionInfo");
        return new WifiInfo();
    }
}
