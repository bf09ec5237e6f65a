/**
 * DATA: where TikTok encrypts, per app version. Class and method names come from public decompiled TikTok
 * sources; each entry names its source. The `tiktok` module hooks every entry of every version (a class
 * that is not in the running build is only noted as missing), so one agent serves several versions.
 *
 * Roles: "ttencrypt" (args[0] is the plaintext about to be ttEncrypt'd, usually gzip'd JSON; the return
 * value is the ttEncrypt body that goes on the wire), "metasec" (the security SDK's one JNI entry point:
 * every call into libmetasec with its command code and arguments), "metasec-callback" (the native side
 * asking Java for a device value: what the security SDK collects before encrypting its report).
 */

export interface ProfileEntry {
    cls: string;
    method: string;
    /** JNI descriptor of the hooked overload, as in the decompiled source. */
    signature: string;
    role: "ttencrypt" | "metasec" | "metasec-callback";
    native: boolean;
    source: string;
}

export interface VersionProfile {
    version: string;
    versionCode: number | null;
    entries: ProfileEntry[];
}

const TIKTOK_22_5_3 = "toventang/tiktok-smali@1baea0ee7a77447734f296cb1094c77ee24509d2 (TikTok 22.5.3, versionCode 2022205030, jadx)";
const LATER = "public smali of a later TikTok build (obfuscated LIZ/LIZIZ names; code search, version not stated)";
const APPLOG_SDK = "public decompiled ByteDance AppLog SDK (com.bytedance.applog.encryptor, library EncryptorP; code search)";

export const PROFILES: VersionProfile[] = [
    {
        version: "22.5.3",
        versionCode: 2022205030,
        entries: [
            { cls: "com.bytedance.frameworks.encryptor.EncryptorUtil", method: "ttEncrypt", signature: "([BI)[B", role: "ttencrypt", native: true, source: `${TIKTOK_22_5_3}: sources/com/bytedance/frameworks/encryptor/EncryptorUtil.java` },
            { cls: "com.bytedance.frameworks.encryptor.EncryptorUtil", method: "a", signature: "([BI)[B", role: "ttencrypt", native: false, source: `${TIKTOK_22_5_3}: sources/com/bytedance/frameworks/encryptor/EncryptorUtil.java` },
            { cls: "ms.bd.o.h", method: "a", signature: "(IIJLjava/lang/String;Ljava/lang/Object;)Ljava/lang/Object;", role: "metasec", native: true, source: `${TIKTOK_22_5_3}: sources/ms/bd/o/h.java` },
            { cls: "ms.bd.o.b", method: "b", signature: "(IIJLjava/lang/String;Ljava/lang/Object;)Ljava/lang/Object;", role: "metasec-callback", native: false, source: `${TIKTOK_22_5_3}: sources/ms/bd/o/b.java` },
        ],
    },
    {
        version: "later (obfuscated)",
        versionCode: null,
        entries: [
            { cls: "com.bytedance.frameworks.encryptor.EncryptorUtil", method: "LIZ", signature: "(I[B)[B", role: "ttencrypt", native: false, source: `${LATER}: EncryptorUtil.smali` },
            { cls: "com.bytedance.frameworks.encryptor.EncryptorUtil", method: "encrypt", signature: "([BI)[B", role: "ttencrypt", native: false, source: `${LATER}: callers in com.bytedance.retrofit2.mime.TypedByteArray` },
            { cls: "ms.bd.o.k", method: "a", signature: "(IIJLjava/lang/String;Ljava/lang/Object;)Ljava/lang/Object;", role: "metasec", native: true, source: `${LATER}: callers in ms.bd.o.b1` },
        ],
    },
    {
        version: "applog-sdk",
        versionCode: null,
        entries: [
            { cls: "com.bytedance.applog.encryptor.EncryptorUtil", method: "encrypt", signature: "([BI)[B", role: "ttencrypt", native: false, source: APPLOG_SDK },
        ],
    },
];
