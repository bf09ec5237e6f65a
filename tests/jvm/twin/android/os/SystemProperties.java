package android.os;

import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.os.SystemProperties (hidden API, reached by reflection in real apps). */
public class SystemProperties {
    public static String get(String key) {
        return get(key, "");
    }

    public static String get(String key, String def) {
        Originals.called("SystemProperties.get", key, def);
        return "ro.serialno".equals(key) ? Canaries.get("serial") : def;
    }
}
