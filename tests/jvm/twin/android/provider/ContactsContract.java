package android.provider;

import android.net.Uri;

/** android.provider.ContactsContract: the contacts provider's URIs. */
public final class ContactsContract {
    public static final String AUTHORITY = "com.android.contacts";

    private ContactsContract() {}

    public static final class Contacts {
        public static final Uri CONTENT_URI = Uri.parse("content://com.android.contacts/contacts");

        private Contacts() {}
    }

    public static final class CommonDataKinds {
        private CommonDataKinds() {}

        public static final class Phone {
            public static final Uri CONTENT_URI = Uri.parse("content://com.android.contacts/data/phones");

            private Phone() {}
        }
    }
}
