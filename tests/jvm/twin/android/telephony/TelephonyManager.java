package android.telephony;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.telephony.TelephonyManager with Android's read signatures; identifiers are the planted ones. */
public class TelephonyManager {
    /** Callback for requestCellInfoUpdate (API 29). */
    public abstract static class CellInfoCallback {
        public abstract void onCellInfo(List<CellInfo> cellInfo);
    }

    private static String read(String api, String value, Object... args) {
        Originals.called("TelephonyManager." + api, args);
        return value;
    }

    @Deprecated
    public String getDeviceId() { return read("getDeviceId", Canaries.get("imei")); }
    @Deprecated
    public String getDeviceId(int slotIndex) { return read("getDeviceId", Canaries.get("imei"), slotIndex); }
    public String getImei() { return read("getImei", Canaries.get("imei")); }
    public String getImei(int slotIndex) { return read("getImei", Canaries.get("imei"), slotIndex); }
    public String getMeid() { return read("getMeid", null); }
    public String getMeid(int slotIndex) { return read("getMeid", null, slotIndex); }
    public String getSubscriberId() { return read("getSubscriberId", Canaries.get("imsi")); }
    public String getSimSerialNumber() { return read("getSimSerialNumber", Canaries.get("iccid")); }
    public String getLine1Number() { return read("getLine1Number", Canaries.get("phone")); }
    public String getNetworkOperator() { return read("getNetworkOperator", "20408"); }
    public String getNetworkOperatorName() { return read("getNetworkOperatorName", "KPN"); }
    public String getSimOperator() { return read("getSimOperator", "20408"); }
    public String getSimOperatorName() { return read("getSimOperatorName", "KPN"); }
    public String getNetworkCountryIso() { return read("getNetworkCountryIso", "nl"); }
    public String getSimCountryIso() { return read("getSimCountryIso", "nl"); }

    public List<CellInfo> getAllCellInfo() {
        Originals.called("TelephonyManager.getAllCellInfo");
        List<CellInfo> cells = new ArrayList<>();
        cells.add(new CellInfo(204, 8, 1234, 56789));
        return cells;
    }

    @Deprecated
    public CellLocation getCellLocation() {
        Originals.called("TelephonyManager.getCellLocation");
        return new CellLocation(1234, 56789);
    }

    public void requestCellInfoUpdate(Executor executor, CellInfoCallback callback) {
        Originals.called("TelephonyManager.requestCellInfoUpdate");
        executor.execute(() -> callback.onCellInfo(getAllCellInfo()));
    }
}
