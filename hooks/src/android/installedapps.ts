/**
 * Which other apps are installed or running: the package manager's package and application lists,
 * intent queries (the usual way to probe for specific apps), package lookups, and running processes.
 *
 * Events: category "installed_apps"; api "<Class>.<method>"; list results carry `size` and `items`.
 */
import { hookMethods, type MethodHook } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";

// PackageManager's methods are abstract; the framework's implementation is ApplicationPackageManager.
const PM = "android.app.ApplicationPackageManager";
const AM = "android.app.ActivityManager";

export const HOOKS: MethodHook[] = [
    { cls: PM, method: "getInstalledPackages" },
    { cls: PM, method: "getInstalledApplications" },
    { cls: PM, method: "queryIntentActivities" },
    { cls: PM, method: "queryIntentServices" },
    { cls: PM, method: "queryBroadcastReceivers" },
    { cls: PM, method: "getPackageInfo" },
    { cls: PM, method: "getApplicationInfo" },
    { cls: AM, method: "getRunningAppProcesses" },
    { cls: AM, method: "getRunningTasks" },
    { cls: AM, method: "getRunningServices" },
];

export const installedAppsModule: JavaHookModule = {
    name: "installed_apps",
    kind: "java",
    install(log): void {
        hookMethods(log, "installed_apps", HOOKS);
    },
};
