package com.bytedance.applog.net;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A stand-in for the SDK's own encryption entry point, named for no real class: the kind of method an
 * analyst finds in a new build's dex and asks privlab to watch ({@code privlab capture --frida --watch
 * com.bytedance.applog.net.LogEncryptor.encrypt}). It is shaped like TikTok's
 * {@code com.bytedance.frameworks.encryptor.EncryptorUtil.a(byte[], int)} (toventang/tiktok-smali, TikTok
 * 22.5.3): static, the bytes and their length in, the body that goes on the wire out. Inside it gzips the
 * plaintext and wraps it in ttEncrypt as analysis/decode/ttencrypt.py describes the format, so the watched
 * call holds the plaintext with the device's identifiers before anything on the wire can show them.
 */
public final class LogEncryptor {
    private static final byte[] MAGIC = {0x74, 0x63, 0x05, 0x10, 0x00, 0x00};
    // The fixed 64-byte table of the format (analysis/decode/ttencrypt.py SALT).
    private static final byte[] SALT = hex(
            "4dd4c2e6b83162090e52b3c7a6733ba41cb2462b829ab58a196b39db57177524"
            + "f49baf7f08e8d68d26a72e37c1a95a2f1f05a51892aef2949732b62a38aadd58");

    private LogEncryptor() {}

    public static byte[] encrypt(byte[] plaintext, int length) throws IOException, GeneralSecurityException {
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(zipped)) {
            gz.write(plaintext, 0, length);
        }
        byte[] payload = zipped.toByteArray();
        Arrays.fill(payload, 3, 10, (byte) 0); // the client zeroes the gzip header after the method byte
        byte[] seed = new byte[32];
        new SecureRandom().nextBytes(seed);
        MessageDigest sha = MessageDigest.getInstance("SHA-512");
        sha.update(MessageDigest.getInstance("SHA-512").digest(seed));
        byte[] h = sha.digest(SALT);
        Cipher aes = Cipher.getInstance("AES/CBC/PKCS5Padding");
        aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(h, 0, 16, "AES"), new IvParameterSpec(h, 16, 16));
        byte[] digest = MessageDigest.getInstance("SHA-512").digest(payload);
        byte[] block = Arrays.copyOf(digest, digest.length + payload.length);
        System.arraycopy(payload, 0, block, digest.length, payload.length);
        byte[] sealed = aes.doFinal(block);
        byte[] out = new byte[MAGIC.length + seed.length + sealed.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        System.arraycopy(seed, 0, out, MAGIC.length, seed.length);
        System.arraycopy(sealed, 0, out, MAGIC.length + seed.length, sealed.length);
        return out;
    }

    private static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
