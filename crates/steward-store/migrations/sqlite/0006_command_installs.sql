-- An install or removal that a command (INSTALL, UNINSTALL) carries out is tracked in the row of
-- that command on that device: in progress when sent, success or failure when it ends.
ALTER TABLE app_installs ADD COLUMN command_status_id BLOB;
CREATE INDEX app_installs_command ON app_installs (command_status_id);
CREATE INDEX app_installs_open ON app_installs (install_state, device_id);
