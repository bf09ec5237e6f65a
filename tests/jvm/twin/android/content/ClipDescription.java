package android.content;

/** android.content.ClipDescription: label and MIME types of a clip. */
public class ClipDescription {
    public static final String MIMETYPE_TEXT_PLAIN = "text/plain";

    private final CharSequence label;
    private final String[] mimeTypes;

    public ClipDescription(CharSequence label, String[] mimeTypes) {
        this.label = label;
        this.mimeTypes = mimeTypes;
    }

    public CharSequence getLabel() {
        return label;
    }

    public String getMimeType(int index) {
        return mimeTypes[index];
    }

    @Override
    public String toString() {
        return "ClipDescription { " + mimeTypes[0] + " \"" + label + "\" }";
    }
}
