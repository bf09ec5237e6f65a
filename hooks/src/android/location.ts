/**
 * Location and its proxies: LocationManager (last known, updates, current), the fused location client
 * and its results, Location getters, cell info, and Wi-Fi scan results and SSID/BSSID.
 *
 * Events: category "location"; api "<Class>.<method>".
 */
import { hookMethods, type MethodHook } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";

const MANAGER = "android.location.LocationManager";
const FUSED = "com.google.android.gms.location.FusedLocationProviderClient";
const TELEPHONY = "android.telephony.TelephonyManager";

export const HOOKS: MethodHook[] = [
    { cls: MANAGER, method: "getLastKnownLocation" },
    { cls: MANAGER, method: "requestLocationUpdates" },
    { cls: MANAGER, method: "requestSingleUpdate" },
    { cls: MANAGER, method: "getCurrentLocation" },
    { cls: FUSED, method: "getLastLocation" },
    { cls: FUSED, method: "requestLocationUpdates" },
    { cls: FUSED, method: "getCurrentLocation" },
    { cls: "com.google.android.gms.location.LocationResult", method: "getLastLocation" },
    { cls: "com.google.android.gms.location.LocationResult", method: "getLocations" },
    { cls: "android.location.Location", method: "getLatitude" },
    { cls: "android.location.Location", method: "getLongitude" },
    { cls: TELEPHONY, method: "getAllCellInfo" },
    { cls: TELEPHONY, method: "getCellLocation" },
    { cls: TELEPHONY, method: "requestCellInfoUpdate" },
    { cls: "android.net.wifi.WifiManager", method: "getScanResults" },
    { cls: "android.net.wifi.WifiManager", method: "getConnectionInfo" },
    { cls: "android.net.wifi.WifiInfo", method: "getSSID" },
    { cls: "android.net.wifi.WifiInfo", method: "getBSSID" },
];

export const locationModule: JavaHookModule = {
    name: "location",
    kind: "java",
    install(log): void {
        hookMethods(log, "location", HOOKS);
    },
};
