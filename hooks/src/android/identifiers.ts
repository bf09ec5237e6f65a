/**
 * Device and subscriber identifiers: TelephonyManager (IMEI/MEID/device id, subscriber id, SIM serial,
 * line number, operator and country), Settings.Secure "android_id", Build serial, Wi-Fi/Bluetooth MAC,
 * NetworkInterface hardware addresses, the advertising ID client, MediaDrm's device unique id, and
 * system properties that identify the device.
 *
 * Events: category "identifiers"; api "<Class>.<method>"; ret is the value returned (bytes as `{ $b64 }`).
 */
import { hookMethods, type MethodHook } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";

const TELEPHONY = "android.telephony.TelephonyManager";

const TELEPHONY_READS = [
    "getDeviceId", "getImei", "getMeid", "getSubscriberId", "getSimSerialNumber", "getLine1Number",
    "getNetworkOperator", "getNetworkOperatorName", "getSimOperator", "getSimOperatorName",
    "getNetworkCountryIso", "getSimCountryIso",
];

/** Settings keys that identify the device (other Settings reads are not identifiers). */
export const IDENTIFYING_SETTINGS = new Set(["android_id", "bluetooth_address", "bluetooth_name", "device_name"]);

/** System properties that identify the device or its SIM. */
export const IDENTIFYING_PROPERTIES = new Set([
    "ro.serialno", "ro.boot.serialno", "ril.serialnumber", "ro.gsm.serial", "sys.serialnumber",
    "persist.radio.imei", "gsm.sim.operator.numeric", "gsm.operator.numeric", "gsm.sim.operator.iso-country",
    "ro.boot.cpuid", "ro.build.fingerprint", "net.hostname", "wifi.interface.mac",
]);

const settingName = (args: unknown[]): boolean => IDENTIFYING_SETTINGS.has(String(args[1]));
const propertyName = (args: unknown[]): boolean => IDENTIFYING_PROPERTIES.has(String(args[0]));
const drmDeviceId = (args: unknown[]): boolean => String(args[0]) === "deviceUniqueId";

export const HOOKS: MethodHook[] = [
    ...TELEPHONY_READS.map((method) => ({ cls: TELEPHONY, method })),
    { cls: "android.provider.Settings$Secure", method: "getString", when: settingName },
    { cls: "android.provider.Settings$System", method: "getString", when: settingName },
    { cls: "android.os.Build", method: "getSerial" },
    { cls: "android.net.wifi.WifiInfo", method: "getMacAddress" },
    { cls: "android.bluetooth.BluetoothAdapter", method: "getAddress" },
    { cls: "java.net.NetworkInterface", method: "getHardwareAddress" },
    { cls: "com.google.android.gms.ads.identifier.AdvertisingIdClient", method: "getAdvertisingIdInfo" },
    { cls: "com.google.android.gms.ads.identifier.AdvertisingIdClient$Info", method: "getId" },
    { cls: "com.google.android.gms.ads.identifier.AdvertisingIdClient$Info", method: "isLimitAdTrackingEnabled" },
    { cls: "android.media.MediaDrm", method: "getPropertyByteArray", when: drmDeviceId },
    { cls: "android.os.SystemProperties", method: "get", when: propertyName },
];

export const identifiersModule: JavaHookModule = {
    name: "identifiers",
    kind: "java",
    install(log): void {
        hookMethods(log, "identifiers", HOOKS);
    },
};
