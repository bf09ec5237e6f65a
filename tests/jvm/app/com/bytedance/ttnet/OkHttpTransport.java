package com.bytedance.ttnet;

import java.net.Proxy;
import okhttp3.CertificatePinner;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import privlab.app.Http;

/**
 * ByteDance's network layer (TTNet) stand-in on real OkHttp 3, with certificate pinning for its API hosts
 * as TikTok does: the pin below is not the interception CA's, so without the agent's pinning bypass on
 * the real {@code okhttp3.CertificatePinner} the request fails.
 */
public final class OkHttpTransport implements Http.Sender {
    private final OkHttpClient client;

    public OkHttpTransport() throws Exception {
        CertificatePinner pins = new CertificatePinner.Builder()
                .add("*.tiktokv.com", "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                .build();
        client = new OkHttpClient.Builder()
                .proxy(new Proxy(Proxy.Type.HTTP, Http.proxy()))
                .sslSocketFactory(Http.sslContext().getSocketFactory(), Http.trustManager())
                .certificatePinner(pins)
                .build();
    }

    @Override
    public int post(String probe, String url, String contentType, String body) throws Exception {
        Request request = new Request.Builder()
                .url(url)
                .header(Http.PROBE_HEADER, probe)
                .header("user-agent", "okhttp/3.13.1 com.zhiliaoapp.musically (privlab JVM twin)")
                .post(RequestBody.create(MediaType.get(contentType), body))
                .build();
        try (Response response = client.newCall(request).execute()) {
            return response.code();
        }
    }
}
