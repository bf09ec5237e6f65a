package android.security.net.config;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import privlab.twin.Originals;

/** Android's network-security-config trust manager: checkPins throws when no pin matches (here: always). */
public class NetworkSecurityTrustManager {
    private final String host;

    public NetworkSecurityTrustManager(String host) {
        this.host = host;
    }

    public void checkPins(List<X509Certificate> chain) throws CertificateException {
        Originals.called("NetworkSecurityTrustManager.checkPins", chain.size());
        throw new CertificateException("Pin verification failed for " + host);
    }
}
