package privlab.twin;

/**
 * The values the device twin hands out: the session's planted canaries. The runner passes each as
 * {@code -Dprivlab.canary.<id>=<value>}; the defaults are privlab's planted values
 * (analysis/validation/planted.py) so the twin also runs on its own.
 */
public final class Canaries {
    private Canaries() {}

    public static String get(String id) {
        String fallback;
        switch (id) {
            case "imei": fallback = "354918090031241"; break;
            case "android_id": fallback = "3f7a9c2e51b04d86"; break;
            case "adid": fallback = "5b1f2c9e-7d4a-4e8b-9c3f-2a6d8e1b0c47"; break;
            case "mac": fallback = "02:1a:3b:4c:5d:6e"; break;
            case "serial": fallback = "EMU7X9K2Q4"; break;
            case "imsi": fallback = "204081234567890"; break;
            case "iccid": fallback = "8931081234567890123"; break;
            case "phone": fallback = "+31612345678"; break;
            case "email": fallback = "privlab.canary.7f3a@example.org"; break;
            case "location": fallback = "52.370216,4.895168"; break;
            case "clipboard": fallback = "PRIVLAB-CLIP-9f2e71c4 secret note"; break;
            case "contact": fallback = "Maarten Kanarievogel"; break;
            case "canary_app": fallback = "nl.privlab.canaryapp"; break;
            case "openudid": fallback = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4"; break;
            case "cdid": fallback = "c0ffee00-1234-4abc-8def-0123456789ab"; break;
            case "install_id": fallback = "7312345678901234567"; break;
            default: fallback = null;
        }
        String value = System.getProperty("privlab.canary." + id, fallback);
        if (value == null) {
            throw new IllegalArgumentException("no canary " + id);
        }
        return value;
    }
}
