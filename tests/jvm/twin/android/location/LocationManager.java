package android.location;

import android.os.CancellationSignal;
import android.os.Looper;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.location.LocationManager: every provider reports the planted fix. */
public class LocationManager {
    public static final String GPS_PROVIDER = "gps";
    public static final String NETWORK_PROVIDER = "network";

    static Location planted(String provider) {
        String[] parts = Canaries.get("location").split(",");
        Location fix = new Location(provider);
        fix.setLatitude(Double.parseDouble(parts[0]));
        fix.setLongitude(Double.parseDouble(parts[1]));
        return fix;
    }

    public Location getLastKnownLocation(String provider) {
        Originals.called("LocationManager.getLastKnownLocation", provider);
        return planted(provider);
    }

    public void requestLocationUpdates(String provider, long minTimeMs, float minDistanceM, LocationListener listener) {
        Originals.called("LocationManager.requestLocationUpdates", provider, minTimeMs, minDistanceM);
        listener.onLocationChanged(planted(provider));
    }

    @Deprecated
    public void requestSingleUpdate(String provider, LocationListener listener, Looper looper) {
        Originals.called("LocationManager.requestSingleUpdate", provider);
        listener.onLocationChanged(planted(provider));
    }

    public void getCurrentLocation(String provider, CancellationSignal cancellationSignal, Executor executor, Consumer<Location> consumer) {
        Originals.called("LocationManager.getCurrentLocation", provider);
        executor.execute(() -> consumer.accept(planted(provider)));
    }
}
