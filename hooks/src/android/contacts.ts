/**
 * Contacts, call log, SMS and calendar reads through `ContentResolver.query`, and account lists from
 * `AccountManager`. Queries on other content URIs are not recorded.
 *
 * Events: category "contacts"; api "ContentResolver.query" (args[0] is the URI text) or
 * "AccountManager.<method>".
 */
import { hookMethods, type MethodHook } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";

/** Content authorities holding personal data of the user and their contacts. */
export const PERSONAL_AUTHORITIES = [
    "com.android.contacts", "contacts", "call_log", "sms", "mms", "mms-sms", "com.android.calendar",
];

/** Whether the first argument (a content:// Uri) points at contacts, call log, SMS or calendar. */
export function isPersonalUri(args: unknown[]): boolean {
    const uri = String(args[0]);
    const match = /^content:\/\/([^/]+)/.exec(uri);
    return match !== null && PERSONAL_AUTHORITIES.includes(match[1]);
}

const ACCOUNTS = "android.accounts.AccountManager";

export const HOOKS: MethodHook[] = [
    { cls: "android.content.ContentResolver", method: "query", when: isPersonalUri },
    { cls: ACCOUNTS, method: "getAccounts" },
    { cls: ACCOUNTS, method: "getAccountsByType" },
    { cls: ACCOUNTS, method: "getAccountsByTypeAndFeatures" },
    { cls: ACCOUNTS, method: "getAccountsAsUser" },
];

export const contactsModule: JavaHookModule = {
    name: "contacts",
    kind: "java",
    install(log): void {
        hookMethods(log, "contacts", HOOKS);
    },
};
