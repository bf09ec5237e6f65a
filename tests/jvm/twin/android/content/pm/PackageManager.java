package android.content.pm;

import android.content.Intent;
import java.util.List;

/** android.content.pm.PackageManager: abstract, as on Android (ApplicationPackageManager implements it). */
public abstract class PackageManager {
    public static final int GET_META_DATA = 0x80;

    /** Thrown when a package is not installed. */
    public static class NameNotFoundException extends Exception {
        public NameNotFoundException(String name) {
            super(name);
        }
    }

    public abstract List<PackageInfo> getInstalledPackages(int flags);

    public abstract List<ApplicationInfo> getInstalledApplications(int flags);

    public abstract List<ResolveInfo> queryIntentActivities(Intent intent, int flags);

    public abstract List<ResolveInfo> queryIntentServices(Intent intent, int flags);

    public abstract List<ResolveInfo> queryBroadcastReceivers(Intent intent, int flags);

    public abstract PackageInfo getPackageInfo(String packageName, int flags) throws NameNotFoundException;

    public abstract ApplicationInfo getApplicationInfo(String packageName, int flags) throws NameNotFoundException;
}
