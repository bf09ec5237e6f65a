package com.ss.android.ugc.aweme.friends;

import android.content.Context;
import android.database.Cursor;
import android.provider.ContactsContract;
import privlab.app.Http;
import privlab.app.Truth;

/** TikTok's "find friends": reads the address book and uploads names and numbers. */
public final class ContactUploader {
    private ContactUploader() {}

    public static void upload(Context context) throws Exception {
        Cursor cursor = context.getContentResolver().query(ContactsContract.Contacts.CONTENT_URI,
                new String[] {"display_name", "data1"}, null, null, null);
        Truth.read("ContentResolver.query", "contact", "contact", ContactUploader.class);
        StringBuilder contacts = new StringBuilder("[");
        boolean first = true;
        while (cursor.moveToNext()) {
            contacts.append(first ? "" : ",").append("{\"name\":").append(Truth.json(cursor.getString(0)))
                    .append(",\"phone\":").append(Truth.json(cursor.getString(1))).append('}');
            first = false;
        }
        cursor.close();
        String probe = "jvm-contacts";
        Http.post(probe, "https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/upload/contacts/?aid=1233",
                "application/json", "{\"contacts\":" + contacts.append("]") + "}");
        Truth.planted(probe, "contact", "contact", "body:contacts[0].name", "json");
        Truth.planted(probe, "phone", "phone", "body:contacts[0].phone", "json");
    }
}
