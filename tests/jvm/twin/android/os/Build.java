package android.os;

import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.os.Build: the serial number behind getSerial(). */
public class Build {
    public static final String MODEL = "Pixel twin";

    public static String getSerial() {
        Originals.called("Build.getSerial");
        return Canaries.get("serial");
    }
}
