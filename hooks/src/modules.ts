/** Every hook module, by name: the table of contents of the agent. */
import { clipboardModule } from "./android/clipboard.js";
import { contactsModule } from "./android/contacts.js";
import { identifiersModule } from "./android/identifiers.js";
import { installedAppsModule } from "./android/installedapps.js";
import { locationModule } from "./android/location.js";
import { tlsModule } from "./android/tls.js";
import { watchModule } from "./android/watch.js";
import { webviewModule } from "./android/webview.js";
import { tiktokModule } from "./bytedance/tiktok.js";
import type { HookModule } from "./lib/module.js";
import { connectModule } from "./native/connect.js";
import { getaddrinfoModule } from "./native/getaddrinfo.js";
import { sslModule } from "./native/ssl.js";
import { tlsNativeModule } from "./native/tlsnative.js";

export const MODULES: HookModule[] = [
    clipboardModule,
    identifiersModule,
    locationModule,
    contactsModule,
    installedAppsModule,
    webviewModule,
    tlsModule,
    watchModule,
    tiktokModule,
    sslModule,
    connectModule,
    getaddrinfoModule,
    tlsNativeModule,
];
