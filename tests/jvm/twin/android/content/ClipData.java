package android.content;

import java.util.ArrayList;
import java.util.List;

/** android.content.ClipData: a description and items; getPrimaryClip() returns one. */
public class ClipData {
    /** One clip item: text, or an intent or URI (not modelled). */
    public static class Item {
        private final CharSequence text;

        public Item(CharSequence text) {
            this.text = text;
        }

        public CharSequence getText() {
            return text;
        }

        @Override
        public String toString() {
            return "ClipData.Item { T:" + text + " }";
        }
    }

    private final ClipDescription description;
    private final List<Item> items = new ArrayList<>();

    public ClipData(ClipDescription description, Item item) {
        this.description = description;
        items.add(item);
    }

    public static ClipData newPlainText(CharSequence label, CharSequence text) {
        return new ClipData(new ClipDescription(label, new String[] {ClipDescription.MIMETYPE_TEXT_PLAIN}), new Item(text));
    }

    public ClipDescription getDescription() {
        return description;
    }

    public int getItemCount() {
        return items.size();
    }

    public Item getItemAt(int index) {
        return items.get(index);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("ClipData { ").append(description.getMimeType(0));
        for (Item item : items) {
            b.append(" {T:").append(item.getText()).append("}");
        }
        return b.append(" }").toString();
    }
}
