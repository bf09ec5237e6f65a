package com.bytedance.ies.ugc.clipboard;

import android.content.ClipData;
import android.content.ClipboardManager;
import android.content.Context;
import privlab.app.Http;
import privlab.app.Truth;

/** Reads the clipboard when the app comes to the foreground and reports it (share-link detection). */
public final class ClipboardWatcher {
    private ClipboardWatcher() {}

    public static void onForeground(Context context, Http.Sender sender) throws Exception {
        ClipboardManager clipboard = (ClipboardManager) context.getSystemService(Context.CLIPBOARD_SERVICE);
        if (!clipboard.hasPrimaryClip()) {
            return;
        }
        ClipData clip = clipboard.getPrimaryClip();
        Truth.read("ClipboardManager.getPrimaryClip", "clipboard", "clipboard", ClipboardWatcher.class);
        String text = clip.getItemAt(0).getText().toString();
        String probe = "jvm-clipboard";
        sender.post(probe, "https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/clipboard/check/?aid=1233",
                "application/json", "{\"scene\":\"foreground\",\"text\":" + Truth.json(text) + "}");
        Truth.planted(probe, "clipboard", "clipboard", "body:text", "json");
    }
}
