package android.location;

/** android.location.Location: a fix from a provider. */
public class Location {
    private final String provider;
    private double latitude;
    private double longitude;

    public Location(String provider) {
        this.provider = provider;
    }

    public String getProvider() {
        return provider;
    }

    public double getLatitude() {
        return latitude;
    }

    public void setLatitude(double latitude) {
        this.latitude = latitude;
    }

    public double getLongitude() {
        return longitude;
    }

    public void setLongitude(double longitude) {
        this.longitude = longitude;
    }

    @Override
    public String toString() {
        return "Location[" + provider + " " + latitude + "," + longitude + " hAcc=5.0]";
    }
}
