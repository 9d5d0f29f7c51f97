-- Small previews of image attachments, made on this device (at insert, or at the first look at
-- one that arrived by sync) so that opening a chart never loads full photos. A local cache,
-- never synced: any device can make it again from the attachment.
CREATE TABLE attachment_thumbnails (
    attachment_id TEXT PRIMARY KEY,
    media_type    TEXT NOT NULL,
    data          BLOB NOT NULL
);
