package android.webkit;

/** android.webkit.ValueCallback. */
public interface ValueCallback<T> {
    void onReceiveValue(T value);
}
