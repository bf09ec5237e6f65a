package android.webkit;

import android.content.Context;
import java.util.Map;
import privlab.twin.Originals;

/** android.webkit.WebView: loads pages and runs scripts in them (no engine here: it remembers the URL). */
public class WebView {
    private String url;

    public WebView(Context context) {}

    public void loadUrl(String url) {
        Originals.called("WebView.loadUrl", url);
        if (!url.startsWith("javascript:")) {
            this.url = url;
        }
    }

    public void loadUrl(String url, Map<String, String> additionalHttpHeaders) {
        Originals.called("WebView.loadUrl", url, String.valueOf(additionalHttpHeaders));
        if (!url.startsWith("javascript:")) {
            this.url = url;
        }
    }

    public void evaluateJavascript(String script, ValueCallback<String> resultCallback) {
        Originals.called("WebView.evaluateJavascript", script, resultCallback == null ? null : "callback");
        if (resultCallback != null) {
            resultCallback.onReceiveValue("null");
        }
    }

    public void addJavascriptInterface(Object object, String name) {
        Originals.called("WebView.addJavascriptInterface", object.getClass().getName(), name);
    }

    public String getUrl() {
        return url;
    }
}
