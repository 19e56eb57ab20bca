// The SafeTensors module.
