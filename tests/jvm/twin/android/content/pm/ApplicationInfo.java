package android.content.pm;

/** android.content.pm.ApplicationInfo. */
public class ApplicationInfo {
    public String packageName;

    public ApplicationInfo(String packageName) {
        this.packageName = packageName;
    }

    @Override
    public String toString() {
        return "ApplicationInfo{" + Integer.toHexString(packageName.hashCode()) + " " + packageName + "}";
    }
}
