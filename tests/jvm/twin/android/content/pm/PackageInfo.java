package android.content.pm;

/** android.content.pm.PackageInfo. */
public class PackageInfo {
    public String packageName;
    public String versionName;

    public PackageInfo(String packageName, String versionName) {
        this.packageName = packageName;
        this.versionName = versionName;
    }

    @Override
    public String toString() {
        return "PackageInfo{" + Integer.toHexString(packageName.hashCode()) + " " + packageName + "}";
    }
}
