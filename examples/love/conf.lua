-- LÖVE settings for the seedance example. Audio is off: the example makes no sound, and
-- a headless CI machine has no sound device for OpenAL to open.
-- luacheck: globals love
function love.conf(t)
  t.identity = "seedance-example"
  t.version = "11.0"
  t.console = false
  t.window.title = "seedance + LOVE: shots in the game loop"
  t.window.width = 720
  t.window.height = 400
  t.window.vsync = 1
  t.modules.audio = false
  t.modules.sound = false
  t.modules.joystick = false
  t.modules.physics = false
  t.modules.video = false
  t.modules.touch = false
end
