package privlab.app;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The app's HTTPS, the way a program under {@code privlab capture --host-command} gets it: the proxy
 * from {@code PRIVLAB_PROXY}, and trust in the interception CA ({@code PRIVLAB_CA}) only.
 * Every request carries {@code x-privlab-probe} so the ground truth can name it.
 */
public final class Http {
    public static final String PROBE_HEADER = "x-privlab-probe";

    private static SSLContext context;
    private static X509TrustManager trust;
    private static HttpClient client;

    private Http() {}

    public static InetSocketAddress proxy() {
        URI proxy = URI.create(System.getenv().getOrDefault("PRIVLAB_PROXY", "http://127.0.0.1:8080"));
        return new InetSocketAddress(proxy.getHost(), proxy.getPort());
    }

    public static synchronized X509TrustManager trustManager() throws IOException, GeneralSecurityException {
        if (trust == null) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            String ca = System.getenv("PRIVLAB_CA");
            if (ca == null) {
                throw new IOException("PRIVLAB_CA is not set: run under privlab capture");
            }
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            int i = 0;
            for (Certificate cert : factory.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(Paths.get(ca))))) {
                store.setCertificateEntry("privlab-" + i++, cert);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            trust = (X509TrustManager) tmf.getTrustManagers()[0];
            context = SSLContext.getInstance("TLS");
            context.init(null, new javax.net.ssl.TrustManager[] {trust}, null);
        }
        return trust;
    }

    public static synchronized SSLContext sslContext() throws IOException, GeneralSecurityException {
        trustManager();
        return context;
    }

    private static synchronized HttpClient client() throws IOException, GeneralSecurityException {
        if (client == null) {
            client = HttpClient.newBuilder()
                    .proxy(ProxySelector.of(proxy()))
                    .sslContext(sslContext())
                    .connectTimeout(Duration.ofSeconds(20))
                    .build();
        }
        return client;
    }

    /** POST through the JDK's own client; returns the status. */
    public static int post(String probe, String url, String contentType, String body) throws IOException, InterruptedException, GeneralSecurityException {
        return send(probe, url, contentType, HttpRequest.BodyPublishers.ofString(body));
    }

    /** POST a binary body (e.g. a ttEncrypt envelope) through the JDK's own client; returns the status. */
    public static int postBytes(String probe, String url, String contentType, byte[] body) throws IOException, InterruptedException, GeneralSecurityException {
        return send(probe, url, contentType, HttpRequest.BodyPublishers.ofByteArray(body));
    }

    private static int send(String probe, String url, String contentType, HttpRequest.BodyPublisher body) throws IOException, InterruptedException, GeneralSecurityException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(30))
                .header(PROBE_HEADER, probe)
                .header("content-type", contentType)
                .header("user-agent", "com.zhiliaoapp.musically/2023405030 (Linux; U; Android 13; privlab JVM twin)")
                .POST(body)
                .build();
        return client().send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** Sends a request over some HTTP stack (JDK or OkHttp). */
    public interface Sender {
        int post(String probe, String url, String contentType, String body) throws Exception;
    }

    /** The OkHttp sender when Debian's OkHttp is on the class path, else the JDK's client. */
    public static Sender preferOkHttp() {
        try {
            return (Sender) Class.forName("com.bytedance.ttnet.OkHttpTransport").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            return Http::post;
        }
    }
}
