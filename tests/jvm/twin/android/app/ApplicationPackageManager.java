package android.app;

import android.content.Intent;
import android.content.pm.ApplicationInfo;
import android.content.pm.PackageInfo;
import android.content.pm.PackageManager;
import android.content.pm.ResolveInfo;
import java.util.ArrayList;
import java.util.List;
import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.app.ApplicationPackageManager: the framework's PackageManager; the planted app is installed. */
public class ApplicationPackageManager extends PackageManager {
    private static String[] installed() {
        return new String[] {"com.whatsapp", Canaries.get("canary_app"), "com.zhiliaoapp.musically"};
    }

    @Override
    public List<PackageInfo> getInstalledPackages(int flags) {
        Originals.called("ApplicationPackageManager.getInstalledPackages", flags);
        List<PackageInfo> out = new ArrayList<>();
        for (String name : installed()) {
            out.add(new PackageInfo(name, "1.0"));
        }
        return out;
    }

    @Override
    public List<ApplicationInfo> getInstalledApplications(int flags) {
        Originals.called("ApplicationPackageManager.getInstalledApplications", flags);
        List<ApplicationInfo> out = new ArrayList<>();
        for (String name : installed()) {
            out.add(new ApplicationInfo(name));
        }
        return out;
    }

    private List<ResolveInfo> query(String api, Intent intent, int flags) {
        Originals.called("ApplicationPackageManager." + api, String.valueOf(intent), flags);
        List<ResolveInfo> out = new ArrayList<>();
        for (String name : installed()) {
            out.add(new ResolveInfo(name));
        }
        return out;
    }

    @Override
    public List<ResolveInfo> queryIntentActivities(Intent intent, int flags) {
        return query("queryIntentActivities", intent, flags);
    }

    @Override
    public List<ResolveInfo> queryIntentServices(Intent intent, int flags) {
        return query("queryIntentServices", intent, flags);
    }

    @Override
    public List<ResolveInfo> queryBroadcastReceivers(Intent intent, int flags) {
        return query("queryBroadcastReceivers", intent, flags);
    }

    @Override
    public PackageInfo getPackageInfo(String packageName, int flags) throws NameNotFoundException {
        Originals.called("ApplicationPackageManager.getPackageInfo", packageName, flags);
        for (String name : installed()) {
            if (name.equals(packageName)) {
                return new PackageInfo(name, "1.0");
            }
        }
        throw new NameNotFoundException(packageName);
    }

    @Override
    public ApplicationInfo getApplicationInfo(String packageName, int flags) throws NameNotFoundException {
        Originals.called("ApplicationPackageManager.getApplicationInfo", packageName, flags);
        for (String name : installed()) {
            if (name.equals(packageName)) {
                return new ApplicationInfo(name);
            }
        }
        throw new NameNotFoundException(packageName);
    }
}
