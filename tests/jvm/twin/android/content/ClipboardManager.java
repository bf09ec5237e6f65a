package android.content;

import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.content.ClipboardManager with Android's signatures; the clip holds the planted text. */
public class ClipboardManager {
    public interface OnPrimaryClipChangedListener {
        void onPrimaryClipChanged();
    }

    public ClipData getPrimaryClip() {
        Originals.called("ClipboardManager.getPrimaryClip");
        return ClipData.newPlainText("note", Canaries.get("clipboard"));
    }

    public ClipDescription getPrimaryClipDescription() {
        Originals.called("ClipboardManager.getPrimaryClipDescription");
        return new ClipDescription("note", new String[] {ClipDescription.MIMETYPE_TEXT_PLAIN});
    }

    public boolean hasPrimaryClip() {
        Originals.called("ClipboardManager.hasPrimaryClip");
        return true;
    }

    /** @deprecated as on Android; still used by apps. */
    @Deprecated
    public CharSequence getText() {
        Originals.called("ClipboardManager.getText");
        return Canaries.get("clipboard");
    }

    @Deprecated
    public boolean hasText() {
        Originals.called("ClipboardManager.hasText");
        return true;
    }

    public void addPrimaryClipChangedListener(OnPrimaryClipChangedListener what) {
        Originals.called("ClipboardManager.addPrimaryClipChangedListener", what == null ? null : "listener");
    }
}
