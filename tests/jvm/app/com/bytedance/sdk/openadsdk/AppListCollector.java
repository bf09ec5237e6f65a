package com.bytedance.sdk.openadsdk;

import android.content.Context;
import android.content.pm.PackageInfo;
import java.util.List;
import privlab.app.Http;
import privlab.app.Truth;

/** Pangle (ByteDance's ad SDK) stand-in: the list of installed apps, for ad targeting. */
public final class AppListCollector {
    private AppListCollector() {}

    public static void report(Context context) throws Exception {
        List<PackageInfo> packages = context.getPackageManager().getInstalledPackages(0);
        Truth.read("ApplicationPackageManager.getInstalledPackages", "installed_apps", "canary_app", AppListCollector.class);
        StringBuilder apps = new StringBuilder("[");
        int canary = -1;
        for (int i = 0; i < packages.size(); i++) {
            String name = packages.get(i).packageName;
            apps.append(i == 0 ? "" : ",").append(Truth.json(name));
            if (name.equals(privlab.twin.Canaries.get("canary_app"))) {
                canary = i;
            }
        }
        String probe = "jvm-app-list";
        Http.post(probe, "https://api16-access-sg.pangle.io/api/ad/union/sdk/get_ads/", "application/json",
                "{\"app_list\":" + apps.append("]") + "}");
        Truth.planted(probe, "canary_app", "installed_apps", "body:app_list[" + canary + "]", "json");
    }
}
