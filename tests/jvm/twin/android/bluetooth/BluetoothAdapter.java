package android.bluetooth;

import privlab.twin.Originals;

/** android.bluetooth.BluetoothAdapter: the local adapter's address. */
public final class BluetoothAdapter {
    private static final BluetoothAdapter DEFAULT = new BluetoothAdapter();

    public static BluetoothAdapter getDefaultAdapter() {
        return DEFAULT;
    }

    public String getAddress() {
        Originals.called("BluetoothAdapter.getAddress");
        return "02:00:00:00:00:00";
    }
}
