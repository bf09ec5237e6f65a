package android.location;

/** android.location.LocationListener. */
public interface LocationListener {
    void onLocationChanged(Location location);
}
