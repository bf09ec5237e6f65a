package android.media;

import java.util.UUID;
import privlab.twin.Originals;

/** android.media.MediaDrm: the Widevine device unique id (a stable per-device identifier). */
public final class MediaDrm implements AutoCloseable {
    public static final String PROPERTY_DEVICE_UNIQUE_ID = "deviceUniqueId";

    public MediaDrm(UUID uuid) {}

    public byte[] getPropertyByteArray(String propertyName) {
        Originals.called("MediaDrm.getPropertyByteArray", propertyName);
        return new byte[] {0x5a, 0x1e, (byte) 0xc0, 0x0d, 0x42};
    }

    @Override
    public void close() {}
}
