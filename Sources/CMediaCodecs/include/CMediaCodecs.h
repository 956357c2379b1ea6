int loom_media_placeholder(void);
